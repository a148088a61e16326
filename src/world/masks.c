/* ConstantPruningModifier's masks (world.h): made from the weight at the
 * modifier's start, applied at each optim_post_step, removed at finalize.
 * A mask is never changed once made, so snapshots keep the pointers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../util/array.h"
#include "world_model_impl.h"

bool wm_keep(ms_world_model *wm, void *p)
{
    if (!ms_array_reserve(&wm->kept, &wm->kept_cap, wm->nkept, sizeof *wm->kept)) {
        free(p);
        return false;
    }
    wm->kept[wm->nkept++] = p;
    return true;
}

static void out_of_memory(ms_world_model *wm)
{
    if (wm->error != MS_OK)
        return;
    wm->error = MS_ERR_NOMEM;
    ms_diag_set(&wm->error_diag, MS_ERR_NOMEM, "E-WORLD", NULL, 0, 0, "%s",
                ms_status_str(MS_ERR_NOMEM));
}

static const wm_modifier *constant(const ms_world_model *wm, size_t modifier)
{
    return modifier < wm->nmods && wm->mods[modifier].kind == KIND_CONSTANT ? &wm->mods[modifier]
                                                                            : NULL;
}

/* update_mask(param.data.abs() > self._epsilon): the float32 weight against
 * 10e-9 as a float32 */
void wm_op_update_masks(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    const wm_modifier *wmod = constant(wm, modifier);
    for (size_t j = 0; wmod && j < wmod->match.count && wm->error == MS_OK; j++) {
        size_t i = wmod->match.modules[j];
        size_t n = ms_module_numel(ms_model_module(wm->model, i));
        float *w = malloc((n ? n : 1) * sizeof *w);
        unsigned char *mask = malloc(n ? n : 1);
        if (!w || !mask) {
            free(w);
            free(mask);
            out_of_memory(wm);
            return;
        }
        ms_model_weight_read(wm->model, i, w);
        for (size_t k = 0; k < n; k++)
            mask[k] = fabsf(w[k]) > 10e-9f;
        free(w);
        if (!wm_keep(wm, mask)) {
            out_of_memory(wm);
            return;
        }
        wm->mask[i] = mask;
    }
}

/* module.weight *= mask for every module with one: a masked value becomes
 * w * 0 (-0 for a negative w), as torch's multiply by the bool mask does; a
 * quantized weight keeps its qparams, 0 being the zero point's code */
void wm_op_apply_masks(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    if (!constant(wm, modifier))
        return;
    for (size_t i = 0; i < wm->nmodules && wm->error == MS_OK; i++) {
        const unsigned char *mask = wm->mask[i];
        if (!mask)
            continue;
        size_t n = ms_module_numel(ms_model_module(wm->model, i));
        float *w = malloc((n ? n : 1) * sizeof *w);
        if (!w) {
            out_of_memory(wm);
            return;
        }
        ms_model_weight_read(wm->model, i, w);
        bool changed = false;
        for (size_t k = 0; k < n; k++) {
            float v = w[k] * (float)mask[k];
            changed |= memcmp(&v, &w[k], sizeof v) != 0;
            w[k] = v;
        }
        if (changed) {
            const ms_world_qparams *qp = wm->qparams[i];
            ms_model_weight_write(wm->model, i, w);
            wm_report_change(wm, modifier, i, w);
            wm->qparams[i] = qp;
            wm->owner[i] = (int)modifier;
        }
        free(w);
    }
}

void wm_op_remove_masks(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    const wm_modifier *wmod = constant(wm, modifier);
    for (size_t j = 0; wmod && j < wmod->match.count; j++)
        wm->mask[wmod->match.modules[j]] = NULL;
}
