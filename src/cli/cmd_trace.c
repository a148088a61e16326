/* modsim trace SCENARIO | RECIPE: JSON Lines trace out. A scenario gives its
 * calls; a recipe is run as the default run shows it (oneshot() as upstream
 * runs it) or as the run options choose. Bad input is one message on stderr
 * and exit status 2, before any trace is written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../history/history.h"
#include "../recipe/export.h"
#include "../scenario/scenario.h"
#include "../trace/trace.h"
#include "../util/atomic.h"
#include "args.h"
#include "cli.h"
#include "run_history.h"
#include "run_options.h"
#include "run_world.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim trace [--upstream 0.12|0.13] SCENARIO.yaml\n"
                 "       (--upstream wins over the scenario's upstream: key)\n"
                 "       modsim trace RECIPE [--stage S] [RUN OPTIONS] [--emit-scenario FILE]\n"
                 "  --emit-scenario FILE\n"
                 "                       write the run as a scenario file (which traces the\n"
                 "                       same) instead of tracing it\n"
                 "  --record             keep the run in the history ($MODSIM_HISTORY, else\n"
                 "                       $XDG_STATE_HOME/modsim/history.db, else\n"
                 "                       ~/.local/state/modsim/history.db)\n"
                 "  --history PATH       keep the run in the history at PATH\n"
                 "  --no-history         keep nothing (wins over --record and --history)\n"
                 "  --model M            the hooks act on a model: tiny, small, a model spec\n"
                 "                       YAML or a checkpoint directory (the trace is the same)\n"
                 "  --metrics            with --model: after the hook that did it, a line per\n"
                 "                       module it changed, with its sparsity; after a call\n"
                 "                       that changed the weights, the model's perplexity,\n"
                 "                       KL and top-1 agreement on held-out tokens\n"
                 "  with a model (--model or the scenario's model: key):\n");
    ms_run_world_usage(out);
    ms_run_options_usage(out);
}

/* The recipe's warnings, and on failure every error, before any trace; an
 * error without a diagnostic of its own is said as `st`. Frees `diags`. */
static void report(ms_diag_list *diags, ms_status st, const char *file)
{
    if (st != MS_OK && !ms_diag_list_count(diags, MS_SEV_ERROR)) {
        ms_diag d;
        ms_diag_clear(&d);
        ms_diag_set(&d, st, "E-LOAD", file, 0, 0, "%s", ms_status_str(st));
        ms_diag_list_add(diags, &d);
    }
    for (size_t i = 0; i < diags->count; i++)
        ms_diag_print(&diags->items[i], stderr);
    if (ms_diag_list_dropped(diags))
        fprintf(stderr, "... and %zu more diagnostics, not shown\n", ms_diag_list_dropped(diags));
    ms_diag_list_free(diags);
}

/* What the hooks act on: the model --model names (NULL: none) and whether
 * the trace reports what they did to it. */
typedef struct trace_world {
    const char *model;
    bool metrics;
    ms_run_world_args world;  /* --threads, --calib, --calib-tokens, --seed */
    const char *world_option; /* the first of them given, NULL: none */
} trace_world;

/* A world option acts on a model: without one it would be ignored. */
static ms_status needs_model(const trace_world *tw, const char *model, const char *path,
                             ms_diag *diag)
{
    if (model || !tw->world_option)
        return MS_OK;
    ms_diag_set(diag, MS_ERR_INVALID, "E-RUN-MODEL", path, 0, 0,
                "%s acts on a model, and this run has none", tw->world_option);
    ms_diag_hint(diag, "add --model M (tiny, small, a model spec or a checkpoint)%s",
                 ms_scenario_sniff(path) == MS_FILE_RECIPE ? "" : " or the scenario's model: key");
    return MS_ERR_INVALID;
}

/* The model-level figures after call `call` changed the weights: metric
 * lines of the trace only (the history keeps per-module metrics). */
static int model_figures(ms_world_model *wm, size_t call, const ms_sink *trace)
{
    ms_world_metrics mt;
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_world_model_evaluate(wm, &mt, &diag) != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, MS_ERR_NOMEM, "E-WORLD", NULL, 0, 0, "%s",
                        ms_status_str(MS_ERR_NOMEM));
        ms_diag_print(&diag, stderr);
        return 1;
    }
    const struct {
        const char *name;
        double value;
    } figures[] = {{"perplexity", mt.perplexity}, {"kl", mt.kl}, {"top1", mt.top1}};
    for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++)
        ms_sink_emit(trace, &(ms_record){.kind = MS_REC_METRIC,
                                         .call = call,
                                         .metric = figures[k].name,
                                         .value = figures[k].value,
                                         .has_value = true});
    return 0;
}

/* The trace and the history listening to one run. Not ms_fanout: that hands
 * every sink every record, and the history would be called for the on_event
 * hook each modifier gets on each event, a million ignored records in a
 * 100,000-call run (a third of what recording cost). */
typedef struct trace_tee {
    ms_sink trace, history;
} trace_tee;

static void tee_emit(void *user, const ms_record *r)
{
    const trace_tee *t = user;
    t->trace.emit(t->trace.user, r);
    if (r->kind != MS_REC_HOOK || r->hook != MS_HOOK_ON_EVENT || !t->history.skips_on_event)
        t->history.emit(t->history.user, r);
}

/* Runs `calls` on `lc`, the trace on stdout, recorded as `rec` says. */
static int trace_calls(ms_lifecycle *lc, ms_upstream upstream, const ms_call *calls, size_t n,
                       const ms_recording *rec, const ms_history_settings *settings,
                       ms_world_model *wm, bool metrics)
{
    ms_trace *trace = NULL;
    ms_runner *runner = NULL;
    ms_lifecycle_set_upstream(lc, upstream);
    ms_history *history;
    ms_history_run *run = ms_recording_begin(rec, settings, lc, "modsim trace", &history);
    trace_tee tee;
    ms_sink tee_sink;
    if (ms_trace_new(stdout, &trace) == MS_OK && run) {
        tee = (trace_tee){*ms_trace_sink(trace), ms_history_run_sink(run)};
        tee_sink = (ms_sink){.emit = tee_emit, .user = &tee};
    }
    if (!trace || ms_runner_new(lc, run ? &tee_sink : ms_trace_sink(trace), &runner) != MS_OK) {
        fprintf(stderr, "modsim: out of memory\n");
        if (trace)
            ms_trace_free(trace);
        if (run)
            ms_history_run_end(run, MS_HISTORY_FAILED, &(ms_diag){0});
        ms_history_close(history);
        return 2;
    }
    ms_trace_set_upstream(trace, upstream);
    ms_trace_set_metrics(trace, metrics);
    if (wm && metrics)
        ms_world_model_set_sink(wm, run ? &tee_sink : ms_trace_sink(trace));
    bool raised_any = false;
    int rc = 0;
    size_t changes = wm ? ms_world_model_changes(wm) : 0;
    for (size_t i = 0; i < n && !rc; i++) {
        ms_raise raised;
        if (wm)
            ms_world_model_set_call(wm, i);
        if (ms_runner_call(runner, &calls[i], i, &raised) == MS_ERR_RAISED)
            raised_any = true;
        ms_diag werr;
        if (wm && ms_world_model_error(wm, &werr) != MS_OK) {
            ms_diag_print(&werr, stderr);
            raised_any = true;
            rc = 1;
        }
        if (!rc && wm && metrics && ms_world_model_changes(wm) != changes) {
            changes = ms_world_model_changes(wm);
            rc = model_figures(wm, i, ms_trace_sink(trace));
            raised_any |= rc != 0;
        }
    }
    if (wm)
        ms_world_model_set_sink(wm, NULL);
    ms_runner_free(runner);
    ms_recording_end(history, run, raised_any ? MS_HISTORY_FAILED : MS_HISTORY_COMPLETED,
                     "modsim trace");
    if (ms_trace_free(trace) != MS_OK) {
        fprintf(stderr, "modsim: writing the trace failed\n");
        return 1;
    }
    return rc;
}

static int trace_scenario(const char *path, const ms_upstream *upstream, const ms_recording *rec,
                          const trace_world *tw)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    ms_scenario *sc = NULL;
    ms_lifecycle *lc = NULL;
    ms_world_model *wm = NULL;
    ms_status st = ms_scenario_load_as(path, upstream, &sc, &diags);
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(ms_scenario_recipe(sc), &lc, &diag);
    /* --model wins over the scenario's model: key */
    int mline = 0, mcol = 0;
    const char *model = !sc ? NULL : tw->model ? tw->model : ms_scenario_model(sc, &mline, &mcol);
    if (st == MS_OK)
        st = needs_model(tw, model, path, &diag);
    if (st == MS_OK && model) {
        st = ms_run_world_new(model, ms_scenario_recipe(sc), NULL, &tw->world.cfg, &wm, &diag);
        if (st != MS_OK && !tw->model) {
            /* the model the scenario names: said at its line */
            ms_diag was = diag;
            ms_diag_set(&diag, st, was.code, path, mline, mcol, "model: %s", was.message);
            ms_diag_hint(&diag, "%s", was.hint);
        }
    }
    if (st == MS_OK && wm)
        st = ms_lifecycle_set_world(lc, ms_world_model_world(wm));
    if (st != MS_OK && diag.message[0])
        ms_diag_list_add(&diags, &diag);
    report(&diags, st, path);
    if (st != MS_OK) {
        ms_lifecycle_free(lc);
        ms_world_model_free(wm);
        ms_scenario_free(sc);
        return 2;
    }
    size_t n = ms_scenario_call_count(sc);
    /* the scenario keeps its calls in one array */
    ms_lifecycle_set_calibration_data(lc, ms_scenario_calibration_data(sc));
    const ms_call *calls = n ? ms_scenario_call_at(sc, 0) : NULL;
    ms_history_settings hs = {.modsim_version = MODSIM_VERSION,
                              .profile = ms_upstream_name(ms_scenario_upstream(sc)),
                              .recipe_path = path,
                              .pipeline = "scenario",
                              .clock = "the scenario's calls",
                              .index_upstream = ms_scenario_index_mode(sc) == MS_INDEX_UPSTREAM,
                              .calibration_data = ms_scenario_calibration_data(sc),
                              .model = model,
                              .threads = 1};
    /* the clock a scenario gives its events, for writing it out again */
    for (size_t i = 0; i < n; i++)
        if (calls[i].event.epoch_based || calls[i].event.batches_per_step) {
            hs.steps_per_epoch = calls[i].event.epoch_based ? calls[i].event.steps_per_epoch : 0;
            hs.batches_per_step = calls[i].event.batches_per_step;
            break;
        }
    char *text = NULL, *replay = NULL;
    if (rec && rec->path) {
        text = ms_recording_read_text(path);
        ms_diag ignored;
        if (ms_recording_upstream_text(ms_scenario_recipe(sc), &replay, &ignored) != MS_OK) {
            free(replay);
            replay = NULL;
        }
        hs.recipe_text = text;
        hs.replay_recipe = replay;
    }
    int rc = trace_calls(lc, ms_scenario_upstream(sc), calls, n, rec, &hs, wm, tw->metrics);
    free(text);
    free(replay);
    ms_lifecycle_free(lc);
    ms_world_model_free(wm);
    ms_scenario_free(sc);
    return rc;
}

/* The recipe in upstream layout, as the scenario embeds it. */
static int emit_scenario(const char *path, const ms_recipe *r, const ms_pipeline_config *cfg,
                         const ms_call *calls, size_t n)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    char *text = NULL;
    ms_status st = ms_recording_upstream_text(r, &text, &diag);
    if (st != MS_OK) {
        free(text);
        ms_diag_list diags;
        ms_diag_list_init(&diags);
        if (diag.message[0])
            ms_diag_list_add(&diags, &diag);
        report(&diags, st, path);
        return 2;
    }
    char what[256];
    ms_pipeline_describe(cfg, what, sizeof what);
    ms_scenario_header h = {
        .comment = what,
        .index_mode = cfg->index_mode,
        .steps_per_epoch = cfg->epoch_index ? cfg->steps_per_epoch : 0,
        .batches_per_step = cfg->batches_per_step,
        .upstream = cfg->upstream,
        .no_calibration_data = !ms_pipeline_has_calibration_data(cfg),
    };
    ms_atomic_file *f;
    FILE *out;
    st = ms_atomic_open(path, &f, &out, &diag);
    if (st == MS_OK) {
        st = ms_scenario_write(out, &h, text, calls, n);
        if (st == MS_OK)
            st = ms_atomic_commit(f, &diag);
        else
            ms_atomic_abort(f);
    }
    free(text);
    if (st != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, st, "E-IO", path, 0, 0, "cannot write %s: %s", path,
                        strerror(errno));
        ms_diag_print(&diag, stderr);
        return 2;
    }
    fprintf(stderr, "modsim trace: wrote %s: %zu calls (%s)\n", path, n, what);
    return 0;
}

static int trace_recipe(const char *path, const char *stage, const ms_run_options *opts,
                        const char *emit, const ms_recording *rec, const trace_world *tw)
{
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    ms_recipe *r = NULL;
    ms_lifecycle *lc = NULL;
    ms_world_model *wm = NULL;
    ms_call *calls = NULL;
    size_t n = 0;
    /* the lifecycle warnings printed are those of the run traced */
    ms_pipeline_config cfg = ms_pipeline_defaults();
    ms_lint_run run = ms_run_options_lint_run(opts, path, stage);
    ms_status st = ms_recipe_load_checked_for(NULL, path, stage, MS_CHECK_RUN, &run, &r, &diags);
    if (st == MS_OK) {
        cfg = ms_pipeline_resolve(opts, r);
        st = ms_pipeline_generate(&cfg, r, &calls, &n, &diag);
    }
    if (st == MS_OK && !emit)
        st = ms_recipe_build_lifecycle(r, &lc, &diag);
    if (st == MS_OK && !emit)
        st = needs_model(tw, tw->model, path, &diag);
    if (st == MS_OK && !emit && tw->model) {
        st = ms_run_world_new(tw->model, r, &cfg, &tw->world.cfg, &wm, &diag);
        /* the sequential pipeline's subgraphs are the model's layers */
        long long layers =
            st == MS_OK ? ms_model_get_spec(ms_world_model_model(wm))->num_layers : 0;
        if (st == MS_OK && cfg.layers != layers) {
            cfg.layers = layers;
            free(calls);
            calls = NULL;
            st = ms_pipeline_generate(&cfg, r, &calls, &n, &diag);
        }
    }
    if (st == MS_OK && wm)
        st = ms_lifecycle_set_world(lc, ms_world_model_world(wm));
    if (st != MS_OK && diag.message[0])
        ms_diag_list_add(&diags, &diag);
    report(&diags, st, path);
    int rc;
    if (st != MS_OK)
        rc = 2;
    else if (emit)
        rc = emit_scenario(emit, r, &cfg, calls, n);
    else {
        ms_lifecycle_set_calibration_data(lc, ms_pipeline_has_calibration_data(&cfg));
        char what[256];
        ms_pipeline_describe(&cfg, what, sizeof what);
        ms_history_settings hs = {
            .modsim_version = MODSIM_VERSION,
            .profile = ms_upstream_name(cfg.upstream),
            .recipe_path = path,
            .stage = stage,
            .pipeline = cfg.epochs ? "training loop" : ms_pipeline_name(cfg.calibration),
            .clock = what,
            .index_upstream = cfg.index_mode == MS_INDEX_UPSTREAM,
            .steps_per_epoch = cfg.epoch_index ? cfg.steps_per_epoch : 0,
            .batches_per_step = cfg.batches_per_step,
            .calibration_data = ms_pipeline_has_calibration_data(&cfg),
            .model = tw->model,
            .threads = 1,
        };
        char *text = NULL, *replay = NULL;
        if (rec && rec->path) {
            text = ms_recording_read_text(path);
            ms_diag ignored;
            if (ms_recording_upstream_text(r, &replay, &ignored) != MS_OK) {
                free(replay);
                replay = NULL;
            }
            hs.recipe_text = text;
            hs.replay_recipe = replay;
        }
        rc = trace_calls(lc, cfg.upstream, calls, n, rec, &hs, wm, tw->metrics);
        free(text);
        free(replay);
    }
    free(calls);
    ms_lifecycle_free(lc);
    ms_world_model_free(wm);
    ms_recipe_free(r);
    return rc;
}

int ms_cmd_trace(int argc, char **argv)
{
    const char *who = "modsim trace", *file = NULL, *stage = NULL, *emit = NULL, *v;
    ms_run_options opts = ms_run_options_defaults();
    bool run_option = false, options_end = false, record = false, no_history = false;
    ms_recording rec = {.path = NULL};
    trace_world tw = {.world = {ms_world_model_defaults()}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = options_end || a[0] != '-'
                    ? 0
                    : ms_run_options_parse(&opts, argc, argv, &i, who, stderr);
        if (r == 0 && !options_end && a[0] == '-') {
            r = ms_run_world_option(&tw.world, argc, argv, &i, who, stderr);
            if (r > 0 && !tw.world_option)
                tw.world_option = a;
            if (r < 0)
                return 2;
            if (r > 0)
                continue;
        }
        if (r < 0)
            return 2;
        if (r > 0) {
            run_option = true;
        } else if (options_end || a[0] != '-') {
            if (file) {
                fprintf(stderr, "%s: one file at a time ('%s' and '%s')\n", who, file, a);
                usage(stderr);
                return 2;
            }
            file = a;
        } else if (!strcmp(a, "--")) {
            options_end = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (ms_args_option(argc, argv, &i, "--stage", &v, who, stderr)) {
            if (!v)
                return 2;
            stage = v;
        } else if (!strcmp(a, "--record")) {
            record = true;
        } else if (!strcmp(a, "--no-history")) {
            no_history = true;
        } else if (ms_args_option(argc, argv, &i, "--history", &v, who, stderr)) {
            if (!v)
                return 2;
            record = true;
            rec.path = v;
        } else if (!strcmp(a, "--metrics")) {
            tw.metrics = true;
            if (!tw.world_option)
                tw.world_option = a;
        } else if (ms_args_option(argc, argv, &i, "--model", &v, who, stderr)) {
            if (!v)
                return 2;
            tw.model = v;
        } else if (ms_args_option(argc, argv, &i, "--emit-scenario", &v, who, stderr)) {
            if (!v)
                return 2;
            emit = v;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", who, a);
            usage(stderr);
            return 2;
        }
    }
    if (!file) {
        usage(stderr);
        return 2;
    }
    ms_recording_choose(&rec, rec.path, record, no_history, who);
    if (emit && rec.path) {
        fprintf(stderr,
                "%s: --emit-scenario writes the run out instead of running it: there "
                "is no run to --record\n",
                who);
        return 2;
    }
    /* a file that is neither gets the scenario loader's message, as before */
    if (ms_scenario_sniff(file) != MS_FILE_RECIPE) {
        if ((run_option && !opts.upstream_given) || stage || emit) {
            fprintf(stderr,
                    "modsim trace: %s is a scenario: its calls are the run (the run "
                    "options but --upstream, --stage and --emit-scenario are for "
                    "recipes)\n",
                    file);
            return 2;
        }
        return trace_scenario(file, opts.upstream_given ? &opts.cfg.upstream : NULL, &rec, &tw);
    }
    return trace_recipe(file, stage, &opts, emit, &rec, &tw);
}
