/* Shared fixtures: recipes parsed from strings, sessions over them. */
#ifndef MS_TEST_SIM_FIXTURES_H
#define MS_TEST_SIM_FIXTURES_H

#include <string.h>

#include "recipe/recipe.h"
#include "sim/pipeline.h"
#include "sim/sim.h"

/* Training pruning 0.5..1.5 and 1.5..2 (epochs), then one-shot GPTQ. */
static const char demo_recipe[] = "train_stage:\n"
                                  "  pruning_modifiers:\n"
                                  "    MagnitudePruningModifier:\n"
                                  "      start: 0.5\n"
                                  "      end: 1.5\n"
                                  "      init_sparsity: 0.1\n"
                                  "      final_sparsity: 0.5\n"
                                  "      targets: [w]\n"
                                  "    ConstantPruningModifier:\n"
                                  "      start: 1.5\n"
                                  "      end: 2\n"
                                  "      targets: [w]\n"
                                  "oneshot_stage:\n"
                                  "  quant_modifiers:\n"
                                  "    GPTQModifier:\n"
                                  "      scheme: W4A16\n"
                                  "      targets: [Linear]\n";

static inline ms_recipe *parse_recipe(const char *text)
{
    ms_recipe *r = NULL;
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_recipe_parse(text, strlen(text), "test.yaml", 0, 0, NULL, &r, &diag) != MS_OK)
        return NULL;
    return r;
}

/* A session over `r` with the given pipeline; NULL on failure. */
static inline ms_sim *new_sim(const ms_recipe *r, const ms_pipeline_config *cfg)
{
    ms_call *calls;
    size_t n;
    ms_diag diag;
    ms_sim *sim = NULL;
    ms_diag_clear(&diag);
    if (ms_pipeline_generate(cfg, r, &calls, &n, &diag) != MS_OK)
        return NULL;
    ms_sim_new(r, calls, n, &sim, &diag);
    free(calls);
    return sim;
}

#endif
