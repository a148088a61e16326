#include "run_world.h"

static ms_world_calibration calibration_of(ms_pipeline p)
{
    return p == MS_PIPELINE_BASIC      ? MS_WORLD_WHOLE
           : p == MS_PIPELINE_DATAFREE ? MS_WORLD_NO_DATA
                                       : MS_WORLD_LAYERWISE;
}

ms_status ms_run_world_new(const char *model, const ms_recipe *recipe,
                           const ms_pipeline_config *cfg, const ms_world_model_config *wcfg,
                           ms_world_model **out, ms_diag *diag)
{
    ms_model *m = NULL;
    ms_status st = ms_model_open(model, &m, diag);
    if (st == MS_OK)
        st = ms_world_model_new(m, recipe, wcfg, out, diag);
    for (size_t i = 0; st == MS_OK && i < ms_recipe_count(recipe); i++) {
        ms_pipeline p = !cfg ? MS_PIPELINE_BASIC
                        : cfg->calibration == MS_PIPELINE_INDEPENDENT
                            ? ms_pipeline_infer(ms_recipe_entry_at(recipe, i), cfg->upstream)
                            : cfg->calibration;
        ms_world_model_set_calibration(*out, i, calibration_of(p));
    }
    return st;
}
