#include "run_options.h"

#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

ms_run_options ms_run_options_defaults(void)
{
    return (ms_run_options){.cfg = ms_pipeline_defaults()};
}

static bool read_count(const char *text, long long lo, long long *out)
{
    if (!text[0] || text[0] == '-' || text[0] == '+')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end || errno || v < lo || (unsigned long long)v > MS_PIPELINE_MAX_CALLS)
        return false;
    *out = v;
    return true;
}

static int bad(FILE *err, const char *who, const char *option, const char *value, const char *valid)
{
    fprintf(err, "%s: %s '%s' is not valid: %s\n", who, option, value, valid);
    return -1;
}

int ms_run_options_parse(ms_run_options *o, int argc, char **argv, int *i, const char *who,
                         FILE *err)
{
    static const char *const with_value[] = {"--pipeline", "--epochs", "--index",
                                             "--clock",    "--layers", "--upstream"};
    if (!strcmp(argv[*i], "--training")) {
        o->training = true;
        return 1;
    }
    size_t k = 0;
    const char *v = NULL;
    while (k < sizeof with_value / sizeof with_value[0] &&
           !ms_args_option(argc, argv, i, with_value[k], &v, who, err))
        k++;
    if (k == sizeof with_value / sizeof with_value[0])
        return 0;
    if (!v)
        return -1;
    const char *a = with_value[k];
    ms_pipeline_config *c = &o->cfg;
    if (!strcmp(a, "--pipeline")) {
        for (int p = 0; p < MS_PIPELINE_COUNT; p++)
            if (!strcmp(v, ms_pipeline_name((ms_pipeline)p))) {
                c->calibration = (ms_pipeline)p;
                return 1;
            }
        return bad(err, who, a, v,
                   "use independent (oneshot's default), sequential, basic, "
                   "datafree, or none (no calibration)");
    }
    if (!strcmp(a, "--epochs")) {
        o->epochs_given = true;
        return read_count(v, 0, &c->epochs)
                   ? 1
                   : bad(err, who, a, v, "a whole number of training-loop epochs, 0 for none");
    }
    if (!strcmp(a, "--upstream")) {
        o->upstream_given = true;
        return ms_upstream_parse(v, &c->upstream)
                   ? 1
                   : bad(err, who, a, v, "use " MS_UPSTREAM_VALID " (the llm-compressor release)");
    }
    if (!strcmp(a, "--layers"))
        return read_count(v, 1, &c->layers)
                   ? 1
                   : bad(err, who, a, v, "a whole number of decoder layers, at least 1");
    if (!strcmp(a, "--index")) {
        if (!strcmp(v, "upstream") || !strcmp(v, "intended")) {
            o->intended = !strcmp(v, "intended");
            c->index_mode = o->intended ? MS_INDEX_STEP : MS_INDEX_UPSTREAM;
            return 1;
        }
        return bad(err, who, a, v,
                   "use upstream (index 0, as upstream builds events) or "
                   "intended (the global step or epoch the schedule means)");
    }
    /* --clock */
    if (!strcmp(v, "step")) {
        c->epoch_index = false;
        return 1;
    }
    char *comma = strchr(v, ',');
    char spe[32];
    size_t len = comma ? (size_t)(comma - v) : strlen(v);
    if (len < sizeof spe) {
        memcpy(spe, v, len);
        spe[len] = '\0';
        long long bps = 0;
        if (read_count(spe, 1, &c->steps_per_epoch) && (!comma || read_count(comma + 1, 1, &bps))) {
            c->epoch_index = true;
            c->batches_per_step = bps;
            return 1;
        }
    }
    return bad(err, who, a, v,
               "step (the index is the global step), or STEPS_PER_EPOCH[,BATCHES_"
               "PER_STEP] (the index is the fractional epoch), e.g. 4 or 4,2");
}

/* The run `opts` choose for recipe `r` (NULL: one that did not load). Frees `r`. */
static ms_lint_run lint_run_of(const ms_run_options *opts, ms_recipe *r)
{
    ms_pipeline_config cfg = ms_pipeline_resolve(opts, r);
    ms_recipe_free(r);
    return ms_pipeline_lint_run(&cfg);
}

ms_lint_run ms_run_options_lint_run(const ms_run_options *opts, const char *path, const char *stage)
{
    ms_recipe *r = NULL;
    ms_diag diag;
    if (ms_recipe_load_file(path, stage, &r, &diag) != MS_OK)
        r = NULL;
    return lint_run_of(opts, r);
}

ms_lint_run ms_run_options_lint_run_text(const ms_run_options *opts, const char *text, size_t len,
                                         const char *file, const char *stage)
{
    ms_recipe *r = NULL;
    ms_diag diag;
    if (ms_recipe_parse(text, len, file, 0, 0, stage, &r, &diag) != MS_OK)
        r = NULL;
    return lint_run_of(opts, r);
}

void ms_run_options_usage(FILE *out)
{
    fprintf(out, "run (default: oneshot() as upstream runs it, independent pipeline, index 0):\n"
                 "  --pipeline P         independent|sequential|basic|datafree\n"
                 "                       (oneshot(pipeline=P)), or none (no calibration events)\n"
                 "  --training           a training loop of your own calling LifecycleCallbacks,\n"
                 "                       as long as the recipe's schedule (no calibration unless\n"
                 "                       --pipeline is given)\n"
                 "  --epochs N           training-loop epochs (0: none)\n"
                 "  --index upstream|intended\n"
                 "                       upstream: every event has index 0, as upstream builds\n"
                 "                       them; intended: the step/epoch the schedule means\n"
                 "                       (upstream does not run this)\n"
                 "  --clock step|N[,B]   the intended index: the global step, or epochs of N\n"
                 "                       steps (B batches per step); default 4\n"
                 "  --layers N           decoder layers (sequential: N + 1 subgraphs); default 4\n"
                 "  --upstream 0.12|0.13 the llm-compressor release whose lifecycle runs; default\n"
                 "                       0.12\n");
}
