/* The finalize op: what a calibration modifier's hooks calibrated and no
 * sequential_epoch_end compressed (gptq/base.py:395-405 at 0.12, :372-382 at
 * 0.13; pruning/sparsegpt/base.py:160-166 and wanda/base.py:129-135 at both:
 * "Failed to compress N modules" when _num_samples is not empty). */
#include "world_model_impl.h"

/* A module's hook saw inputs when a calibration forward went through it:
 * the world takes every subgraph's forward as run once the modifier
 * observes (a pipeline runs it before the subgraph's sequential_epoch_end,
 * a training loop's forward goes through them all); without data there is
 * none. GPTQ hooks only the modules that carry a weight scheme. */
size_t wm_op_finalize(void *self, void *state, size_t modifier)
{
    (void)state;
    ms_world_model *wm = self;
    if (modifier >= wm->nmods || !wm->mods[modifier].hooked)
        return 0;
    wm_modifier *wmod = &wm->mods[modifier];
    wmod->hooked = false;
    /* a world that failed (stopped, out of memory) reports that instead */
    if ((wmod->kind != KIND_GPTQ && wmod->kind != KIND_SPARSEGPT && wmod->kind != KIND_WANDA) ||
        wmod->how == MS_WORLD_NO_DATA || wm->error != MS_OK)
        return 0;
    size_t left = 0;
    for (size_t j = 0; j < wmod->match.count; j++) {
        size_t i = wmod->match.modules[j];
        if (ms_model_module(wm->model, i)->kind == MS_MOD_LINEAR && !wmod->done[j] &&
            (wmod->kind != KIND_GPTQ || wm->scheme[i]))
            left++;
    }
    return left;
}
