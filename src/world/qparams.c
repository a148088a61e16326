/* Each quantized module's parameters as its modifier's kernel computed
 * them, so a saved model's codes, scales and zero points are the run's,
 * not found again from the weight. One block each, never changed once made
 * (a later quantization makes a new one), so snapshots keep the pointers. */
#include <stdlib.h>
#include <string.h>

#include "world_model_impl.h"

ms_status wm_keep_qparams(ms_world_model *wm, size_t module, const ms_quant_args *scheme,
                          const ms_apply_result *res)
{
    size_t ns = res->srows * res->scols, ng = res->g_idx ? res->cols : 0;
    size_t bytes = sizeof(ms_world_qparams) + 2 * ns * sizeof(float) + ng * sizeof(int32_t);
    ms_world_qparams *qp = malloc(bytes);
    if (!qp)
        return MS_ERR_NOMEM;
    float *scales = (float *)(qp + 1), *zero_points = scales + ns;
    int32_t *g_idx = res->g_idx ? (int32_t *)(zero_points + ns) : NULL;
    memcpy(scales, res->scales, ns * sizeof *scales);
    memcpy(zero_points, res->zero_points, ns * sizeof *zero_points);
    if (g_idx)
        memcpy(g_idx, res->g_idx, ng * sizeof *g_idx);
    *qp = (ms_world_qparams){.scheme = *scheme,
                             .srows = res->srows,
                             .scols = res->scols,
                             .scales = scales,
                             .zero_points = zero_points,
                             .g_idx = g_idx};
    if (!wm_keep(wm, qp))
        return MS_ERR_NOMEM;
    wm->qparams[module] = qp;
    return MS_OK;
}

const ms_world_qparams *ms_world_model_qparams(const ms_world_model *wm, size_t module)
{
    return module < wm->nmodules ? wm->qparams[module] : NULL;
}
