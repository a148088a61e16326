/* modsim run RECIPE [--model M]: the run `modsim trace` shows, acting on a
 * model: the same calls, with the model-backed world doing each modifier's
 * work where upstream does it. Prints what started and ended at each call,
 * a table of the Linear modules after the run and the model against the
 * uncompressed one. Bad input is one message on stderr and exit status 2,
 * before the run; a kernel failing during the run is exit status 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/lifecycle.h"
#include "../core/modifier.h"
#include "../recipe/lint.h"
#include "../util/json.h"
#include "../world/size.h"
#include "../world/world_model.h"
#include "args.h"
#include "cli.h"
#include "run_history.h"
#include "run_options.h"
#include "run_save.h"
#include "run_world.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: modsim run RECIPE [--model M] [--stage S] [--threads N]\n"
            "                  [--calib BxS|TEXT | --calib-tokens FILE] [--seed N]\n"
            "                  [--format text|json] [--save-weights OUT.safetensors\n"
            "                  [--outputs LIST]]\n"
            "                  [--history PATH | --no-history] [RUN OPTIONS]\n"
            "  --model M            the model the run acts on: tiny (default), small, a model\n"
            "                       spec YAML or a Hugging Face checkpoint directory\n"
            "  --format text|json   the report (default text)\n"
            "  --save-weights OUT   write the model after the run as modsim kernel writes a\n"
            "                       kernel's outputs: each Linear's NAME.weight (F32) with\n"
            "                       .mask (U8), .codes (I8), .scale, .zero_point (F32),\n"
            "                       .g_idx (I32) beside it; other parameters F32\n"
            "  --outputs LIST       what to write of each Linear: weights, mask, codes,\n"
            "                       scale, zero_point, g_idx, or all (default: what\n"
            "                       compressed-tensors keeps: a quantized module's codes and\n"
            "                       scale, zero_point when asymmetric, g_idx with actorder\n"
            "                       group; the others' weights)\n"
            "  --history PATH       keep the run in the history at PATH (default: kept in\n"
            "                       $MODSIM_HISTORY, else $XDG_STATE_HOME/modsim/history.db,\n"
            "                       else ~/.local/state/modsim/history.db)\n"
            "  --no-history         keep nothing\n"
            "  --layers N           the model's: a different value is refused\n");
    ms_run_world_usage(out);
    ms_run_options_usage(out);
}

static void print_diags(ms_diag_list *diags, ms_status st, const char *file)
{
    if (st != MS_OK && !ms_diag_list_count(diags, MS_SEV_ERROR)) {
        ms_diag d;
        ms_diag_clear(&d);
        ms_diag_set(&d, st, "E-LOAD", file, 0, 0, "%s", ms_status_str(st));
        ms_diag_list_add(diags, &d);
    }
    for (size_t i = 0; i < diags->count; i++)
        ms_diag_print(&diags->items[i], stderr);
    ms_diag_list_free(diags);
}

typedef struct run_args {
    const char *recipe, *model, *stage, *save;
    bool outputs_given;  /* --outputs: else what compressed-tensors keeps */
    unsigned outputs[2]; /* of the quantized modules, of the others */
    ms_run_options opts;
    ms_run_world_args world;
    bool json;
    ms_recording rec;
} run_args;

static const char *type_name(const ms_lifecycle *lc, size_t i)
{
    return ms_modifier_type_name(ms_modifier_type_of(ms_lifecycle_modifier_const(lc, i)));
}

/* The flags a call changed, one line per modifier and change. */
static void print_transitions(const ms_lifecycle *lc, const unsigned *before, size_t index,
                              const ms_call *call, bool json)
{
    static const char *const names[4] = {"initialized", "started", "ended", "finalized"};
    const char *what = call->kind == MS_CALL_INITIALIZE ? "initialize"
                       : call->kind == MS_CALL_FINALIZE ? "finalize"
                                                        : ms_event_type_name(call->event.type);
    for (size_t m = 0; m < ms_lifecycle_count(lc); m++) {
        const ms_modifier *mod = ms_lifecycle_modifier_const(lc, m);
        bool now[4] = {ms_modifier_initialized(mod), ms_modifier_started(mod),
                       ms_modifier_ended(mod), ms_modifier_finalized(mod)};
        for (int f = 0; f < 4; f++) {
            if (now[f] == (bool)(before[m] >> f & 1))
                continue;
            if (json)
                printf("{\"call\":%zu,\"event\":\"%s\",\"modifier\":%zu,\"type\":\"%s\","
                       "\"%s\":%s}\n",
                       index, what, m, type_name(lc, m), names[f], now[f] ? "true" : "false");
            else
                printf("call %-4zu %-24s %s[%zu] %s%s\n", index, what, type_name(lc, m), m,
                       now[f] ? "" : "no longer ", names[f]);
        }
    }
}

static unsigned flags_of(const ms_modifier *m)
{
    return (unsigned)ms_modifier_initialized(m) | (unsigned)ms_modifier_started(m) << 1 |
           (unsigned)ms_modifier_ended(m) << 2 | (unsigned)ms_modifier_finalized(m) << 3;
}

static void print_report(const ms_lifecycle *lc, const ms_world_module_row *rows, size_t n,
                         const ms_world_metrics *mt, bool json)
{
    if (json) {
        for (size_t i = 0; i < n; i++) {
            printf("{\"module\":");
            ms_json_fput_string(stdout, rows[i].name);
            printf(",\"class\":\"%s\",\"modifier\":", rows[i].class_name);
            if (rows[i].owner >= 0)
                printf("%d,\"type\":\"%s\"", rows[i].owner, type_name(lc, (size_t)rows[i].owner));
            else
                printf("null");
            printf(",\"sparsity\":%.6f,\"bits\":", rows[i].sparsity);
            if (rows[i].bits)
                printf("%d", rows[i].bits);
            else
                printf("null");
            printf(",\"rel_error\":%.6g", rows[i].rel_error);
            if (rows[i].note) {
                printf(",\"note\":");
                ms_json_fput_string(stdout, rows[i].note);
            }
            printf("}\n");
        }
        printf("{\"perplexity\":%.6g,\"perplexity_base\":%.6g,\"kl\":%.6g,\"top1\":%.6f}\n",
               mt->perplexity, mt->perplexity_base, mt->kl, mt->top1);
        return;
    }
    printf("\n%-34s %-7s %-28s %8s %4s %9s\n", "module", "class", "modifier", "sparsity", "bits",
           "rel.err");
    for (size_t i = 0; i < n; i++) {
        char owner[64] = "-";
        if (rows[i].owner >= 0)
            snprintf(owner, sizeof owner, "%s[%d]", type_name(lc, (size_t)rows[i].owner),
                     rows[i].owner);
        char bits[8] = "-";
        if (rows[i].bits)
            snprintf(bits, sizeof bits, "%d", rows[i].bits);
        printf("%-34s %-7s %-28s %8.4f %4s %9.6f\n", rows[i].name, rows[i].class_name, owner,
               rows[i].sparsity, bits, rows[i].rel_error);
    }
    for (size_t i = 0; i < n; i++)
        if (rows[i].note)
            printf("note: %s left unchanged: %s\n", rows[i].name, rows[i].note);
    printf("\nperplexity %.4f (uncompressed %.4f), KL %.6g nats/token, top-1 agreement "
           "%.4f\n",
           mt->perplexity, mt->perplexity_base, mt->kl, mt->top1);
}

/* The run as the history keeps it. */
typedef struct recorded {
    ms_history_run *run;
    ms_sink sink;
    char *text, *replay;
    char calibration[1100], weights[17];
} recorded;

static uint64_t weights_hash(const void *wm)
{
    return ms_model_weights_hash(ms_world_model_model(wm));
}

/* Starts recording the run (NULL when history is off or unusable): its
 * settings, and the weights' checksum before it and at each transition. */
static ms_history *record_begin(const run_args *a, const ms_recipe *r,
                                const ms_pipeline_config *cfg, const char *what,
                                const ms_lifecycle *lc, ms_world_model *wm, recorded *out)
{
    if (!a->rec.path)
        return NULL;
    out->text = ms_recording_read_text(a->recipe);
    ms_diag ignored;
    if (ms_recording_upstream_text(r, &out->replay, &ignored) != MS_OK) {
        free(out->replay);
        out->replay = NULL;
    }
    const ms_world_model_config *w = &a->world.cfg;
    if (w->calib_source == MS_CALIB_RANDOM)
        snprintf(out->calibration, sizeof out->calibration, "%zux%zu random tokens", w->calib_batch,
                 w->calib_seq);
    else
        snprintf(out->calibration, sizeof out->calibration, "%s %s (at most %zux%zu)",
                 w->calib_source == MS_CALIB_TEXT ? "text" : "token ids", w->calib_path,
                 w->calib_batch, w->calib_seq);
    snprintf(out->weights, sizeof out->weights, "%016llx",
             (unsigned long long)ms_model_weights_hash(ms_world_model_model(wm)));
    ms_history_settings hs = {
        .modsim_version = MODSIM_VERSION,
        .profile = ms_upstream_name(cfg->upstream),
        .recipe_text = out->text,
        .recipe_path = a->recipe,
        .stage = a->stage,
        .pipeline = cfg->epochs ? "training loop" : ms_pipeline_name(cfg->calibration),
        .clock = what,
        .model = a->model,
        .weights_hash = out->weights,
        .calibration = out->calibration,
        .has_seed = true,
        .seed = (long long)w->seed,
        .threads = (int)w->threads,
        .replay_recipe = out->replay,
        .index_upstream = cfg->index_mode == MS_INDEX_UPSTREAM,
        .steps_per_epoch = cfg->epoch_index ? cfg->steps_per_epoch : 0,
        .batches_per_step = cfg->batches_per_step,
        .calibration_data = ms_pipeline_has_calibration_data(cfg),
    };
    ms_history *h;
    out->run = ms_recording_begin(&a->rec, &hs, lc, "modsim run", &h);
    if (!out->run)
        return NULL;
    out->sink = ms_history_run_sink(out->run);
    ms_history_run_set_weights_hash(out->run, weights_hash, wm);
    return h;
}

/* The final table and figures; a write that fails stops the recording,
 * said when it ends. */
static void record_report(recorded *hist, const ms_world_module_row *rows, size_t n,
                          const ms_world_metrics *mt)
{
    if (!hist->run)
        return;
    ms_history_module *mods = calloc(n ? n : 1, sizeof *mods);
    ms_diag diag;
    ms_diag_clear(&diag);
    for (size_t i = 0; mods && i < n; i++)
        mods[i] =
            (ms_history_module){rows[i].name, rows[i].class_name, rows[i].owner, rows[i].sparsity,
                                rows[i].bits, rows[i].rel_error,  rows[i].note};
    ms_status st = mods ? ms_history_run_modules(hist->run, mods, n, &diag) : MS_ERR_NOMEM;
    free(mods);
    const struct {
        const char *name;
        double value;
    } figures[] = {{"perplexity", mt->perplexity},
                   {"perplexity_base", mt->perplexity_base},
                   {"kl", mt->kl},
                   {"top1", mt->top1}};
    for (size_t i = 0; st == MS_OK && i < sizeof figures / sizeof *figures; i++)
        st = ms_history_run_figure(hist->run, figures[i].name, figures[i].value, &diag);
    if (st != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, st, "E-HISTORY", "", 0, 0, "%s", ms_status_str(st));
        diag.severity = MS_SEV_WARNING;
        ms_diag_print(&diag, stderr);
        fprintf(stderr, "modsim run: the history keeps the run without its module table\n");
    }
}

/* The size as compressed-tensors would store the model, after the figures. */
static void print_size(const ms_world_size *z, bool json)
{
    double ratio = z->dense_bytes ? (double)z->compressed_bytes / (double)z->dense_bytes : 1;
    if (json) {
        printf("{\"compressed_bytes\":%zu,\"dense_bytes\":%zu,\"ratio\":%.6f,\"formats\":"
               "{\"pack-quantized\":%zu,\"float-quantized\":%zu,\"sparse-24-bitmask\":%zu}}\n",
               z->compressed_bytes, z->dense_bytes, ratio, z->pack_quantized, z->float_quantized,
               z->sparse_24);
        return;
    }
    printf("size %zu bytes as compressed-tensors stores it, dense %zu (%.4f of it); "
           "Linears: %zu pack-quantized, %zu float-quantized, %zu sparse-24-bitmask\n",
           z->compressed_bytes, z->dense_bytes, ratio, z->pack_quantized, z->float_quantized,
           z->sparse_24);
}

static int run(const run_args *a)
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
    ms_lint_run lrun = ms_run_options_lint_run(&a->opts, a->recipe, a->stage);
    ms_status st =
        ms_recipe_load_checked_for(NULL, a->recipe, a->stage, MS_CHECK_RUN, &lrun, &r, &diags);
    ms_pipeline_config cfg = ms_pipeline_defaults();
    if (st == MS_OK) {
        cfg = ms_pipeline_resolve(&a->opts, r);
        st = ms_run_world_new(a->model, r, &cfg, &a->world.cfg, &wm, &diag);
    }
    if (st == MS_OK) {
        long long layers = ms_model_get_spec(ms_world_model_model(wm))->num_layers;
        if (a->opts.cfg.layers != ms_pipeline_defaults().layers && a->opts.cfg.layers != layers) {
            st = ms_diag_set(&diag, MS_ERR_INVALID, "E-RUN-LAYERS", a->model, 0, 0,
                             "--layers %lld differs from the model's %lld decoder layers",
                             a->opts.cfg.layers, layers);
            ms_diag_hint(&diag, "leave --layers out: the model sets it");
        }
        cfg.layers = layers;
    }
    if (st == MS_OK)
        st = ms_pipeline_generate(&cfg, r, &calls, &n, &diag);
    if (st == MS_OK)
        st = ms_recipe_build_lifecycle(r, &lc, &diag);
    if (st == MS_OK)
        st = ms_lifecycle_set_world(lc, ms_world_model_world(wm));
    if (st != MS_OK && diag.message[0])
        ms_diag_list_add(&diags, &diag);
    print_diags(&diags, st, a->recipe);
    int rc = 2;
    unsigned *before = NULL;
    ms_runner *runner = NULL;
    ms_history *history = NULL;
    recorded hist = {0};
    ms_history_status status = MS_HISTORY_COMPLETED;
    if (st != MS_OK)
        goto done;
    ms_lifecycle_set_upstream(lc, cfg.upstream);
    ms_lifecycle_set_calibration_data(lc, ms_pipeline_has_calibration_data(&cfg));
    size_t nm = ms_lifecycle_count(lc);
    char what[256];
    ms_pipeline_describe(&cfg, what, sizeof what);
    history = record_begin(a, r, &cfg, what, lc, wm, &hist);
    if (history)
        ms_world_model_set_sink(wm, &hist.sink);
    before = calloc(nm ? nm : 1, sizeof *before);
    if (!before || ms_runner_new(lc, history ? &hist.sink : NULL, &runner) != MS_OK) {
        fprintf(stderr, "modsim: out of memory\n");
        goto done;
    }
    if (!a->json)
        printf("run: %s; %zu calls\n", what, n);
    for (size_t i = 0; i < n; i++) {
        ms_world_model_set_call(wm, i);
        for (size_t m = 0; m < nm; m++)
            before[m] = flags_of(ms_lifecycle_modifier_const(lc, m));
        ms_raise raised;
        if (ms_runner_call(runner, &calls[i], i, &raised) == MS_ERR_RAISED) {
            status = MS_HISTORY_FAILED;
            if (a->json) {
                printf("{\"call\":%zu,\"raised\":\"%s\",\"message\":", i,
                       ms_raise_kind_name(raised.kind));
                ms_json_fput_string(stdout, raised.message);
                printf("}\n");
            } else
                printf("call %-4zu raised %s: %s\n", i, ms_raise_kind_name(raised.kind),
                       raised.message);
        }
        print_transitions(lc, before, i, &calls[i], a->json);
        if (ms_world_model_error(wm, &diag) != MS_OK) {
            ms_diag_print(&diag, stderr);
            rc = 1;
            goto done;
        }
    }
    ms_world_module_row *rows = NULL;
    size_t nrows = 0;
    ms_world_metrics mt;
    ms_world_size size;
    st = ms_world_model_rows(wm, &rows, &nrows, &diag);
    if (st == MS_OK)
        st = ms_world_model_evaluate(wm, &mt, &diag);
    if (st == MS_OK)
        st = ms_world_model_size(wm, &size, &diag);
    if (st == MS_OK) {
        print_report(lc, rows, nrows, &mt, a->json);
        print_size(&size, a->json);
        record_report(&hist, rows, nrows, &mt);
    }
    free(rows);
    if (st == MS_OK && a->save)
        st = ms_run_save(wm, a->outputs_given ? a->outputs : NULL, a->save, a->recipe, stderr,
                         &diag);
    if (st != MS_OK) {
        if (!diag.message[0])
            ms_diag_set(&diag, st, "E-WORLD", a->recipe, 0, 0, "%s", ms_status_str(st));
        ms_diag_print(&diag, stderr);
        rc = 1;
        goto done;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    if (history)
        ms_world_model_set_sink(wm, NULL);
    ms_recording_end(history, hist.run, rc == 0 ? status : MS_HISTORY_FAILED, "modsim run");
    free(hist.text);
    free(hist.replay);
    ms_runner_free(runner);
    free(before);
    free(calls);
    ms_lifecycle_free(lc);
    ms_world_model_free(wm);
    ms_recipe_free(r);
    return rc;
}

int ms_cmd_run(int argc, char **argv)
{
    const char *who = "modsim run", *v;
    run_args a = {
        .model = "tiny", .opts = ms_run_options_defaults(), .world = {ms_world_model_defaults()}};
    bool options_end = false, no_history = false;
    const char *history = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int r = options_end || arg[0] != '-'
                    ? 0
                    : ms_run_options_parse(&a.opts, argc, argv, &i, who, stderr);
        if (r == 0 && !options_end && arg[0] == '-')
            r = ms_run_world_option(&a.world, argc, argv, &i, who, stderr);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (options_end || arg[0] != '-') {
            if (a.recipe) {
                fprintf(stderr, "%s: one recipe at a time ('%s' and '%s')\n", who, a.recipe, arg);
                return 2;
            }
            a.recipe = arg;
        } else if (!strcmp(arg, "--")) {
            options_end = true;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        } else if (ms_args_option(argc, argv, &i, "--model", &v, who, stderr)) {
            if (!v)
                return 2;
            a.model = v;
        } else if (ms_args_option(argc, argv, &i, "--stage", &v, who, stderr)) {
            if (!v)
                return 2;
            a.stage = v;
        } else if (!strcmp(arg, "--no-history")) {
            no_history = true;
        } else if (ms_args_option(argc, argv, &i, "--history", &v, who, stderr)) {
            if (!v)
                return 2;
            history = v;
        } else if (ms_args_option(argc, argv, &i, "--save-weights", &v, who, stderr)) {
            if (!v)
                return 2;
            a.save = v;
        } else if (ms_args_option(argc, argv, &i, "--outputs", &v, who, stderr)) {
            ms_diag d;
            ms_diag_clear(&d);
            if (!v)
                return 2;
            if (ms_run_save_outputs(v, "--outputs", &a.outputs[0], &a.outputs[1], &d) != MS_OK) {
                ms_diag_print(&d, stderr);
                return 2;
            }
            a.outputs_given = true;
        } else if (ms_args_option(argc, argv, &i, "--format", &v, who, stderr)) {
            if (!v)
                return 2;
            if (strcmp(v, "text") && strcmp(v, "json")) {
                fprintf(stderr, "%s: --format '%s' is not valid: use text or json\n", who, v);
                return 2;
            }
            a.json = !strcmp(v, "json");
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", who, arg);
            usage(stderr);
            return 2;
        }
    }
    if (!a.recipe) {
        fprintf(stderr, "%s: which recipe? (modsim run RECIPE [--model M])\n", who);
        usage(stderr);
        return 2;
    }
    if (a.outputs_given && !a.save) {
        fprintf(stderr, "%s: --outputs chooses what --save-weights writes: give --save-weights\n",
                who);
        return 2;
    }
    /* a run is kept by default: it is what the history is for */
    ms_recording_choose(&a.rec, history, true, no_history, who);
    return run(&a);
}
