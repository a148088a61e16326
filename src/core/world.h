/* The world the hooks act on: everything outside the lifecycle that a
 * modifier reaches (today the quantization schemes attached to modules; a
 * model-backed world, in its own folder, does the real work). Hooks call the
 * ops where upstream does the work; the lifecycle keeps the world's state
 * bytes in its snapshots, so going back in a run goes back in the world. */
#ifndef MS_WORLD_H
#define MS_WORLD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ms_world_ops {
    const char *name;
    size_t state_size; /* snapshotted bytes, zeroed before initialize */
    /* A modifier resolved its targets and ignore against the modules and
     * attached its quantization scheme to what they select (upstream does
     * both in one step at initialize). */
    void (*attach_quant_scheme)(void *self, void *state, size_t modifier);
    /* How many modifiers attached quantization schemes so far. */
    size_t (*quant_schemes_attached)(const void *self, const void *state);
    /* How many modules modifier `modifier`'s own targets and ignore select
     * that carry a weight scheme, Embeddings left out (the modules GPTQ
     * hooks: gptq/base.py:219-230 at 0.12). NULL: a world without modules,
     * where quant_schemes_attached decides. */
    size_t (*quant_modules)(const void *self, const void *state, size_t modifier);
    /* Whether modifier `modifier`'s per-layer sparsities (a list, or OWL's
     * one per decoder layer) are not as many as the modules its targets
     * select (sgpt_base.py:132-139 at 0.12): `given` gets their number,
     * `layers` the model's decoder layers, which upstream's message names.
     * NULL: a world without modules, where nothing is counted. */
    bool (*sparsity_mismatch)(const void *self, size_t modifier, size_t *given, size_t *layers);
    /* A pruning modifier's masks move to `sparsity` (magnitude schedule step). */
    void (*apply_mask)(void *self, void *state, size_t modifier, double sparsity);
    /* A calibration modifier starts observing the inputs of its targets'
     * Linear layers in the calibration forward passes (its hooks, at start). */
    void (*observe_inputs)(void *self, void *state, size_t modifier);
    /* A calibration modifier compresses the modules of the subgraph the
     * calibration forward just went through (its on_event at
     * sequential_epoch_end: gptq/base.py, sgpt_base.py at 0.12). NULL: a world
     * with nothing to compress there. */
    void (*sequential_epoch_end)(void *self, void *state, size_t modifier);
    /* ConstantPruningModifier's masks (pruning/constant/base.py, the same
     * file at 0.12 and 0.13): at start each of its targets' masks becomes
     * |w| > 1e-8 (:17, :50-56); at each optim_post_step every weight that
     * has a mask is multiplied by it (:58-73, the model's every "mask"
     * buffer, another ConstantPruning's too); finalize removes its targets'
     * masks (:44-48). NULL: a world without weights. */
    void (*update_masks)(void *self, void *state, size_t modifier);
    void (*apply_masks)(void *self, void *state, size_t modifier);
    void (*remove_masks)(void *self, void *state, size_t modifier);
    /* A calibration modifier stops observing (calibration end): Quantization,
     * SmoothQuant quantize or smooth what is left; GPTQ, SparseGPT and Wanda
     * only remove their hooks (gptq/base.py:387-393, sgpt_base.py:190-192
     * at 0.12), leaving what they calibrated uncompressed. */
    void (*compress)(void *self, void *state, size_t modifier);
    /* A calibration modifier finalizes: how many modules its hooks
     * calibrated that no sequential_epoch_end compressed (upstream's
     * _num_samples left at on_finalize), which it then forgets. NULL: a
     * world without modules, where none are left. */
    size_t (*finalize)(void *self, void *state, size_t modifier);
} ms_world_ops;

typedef struct ms_world {
    const ms_world_ops *ops;
    void *self; /* the world's own data (a model); not snapshotted */
} ms_world;

/* The world without a model: counts attached schemes, as upstream's checks
 * need, and changes nothing else. The default of every lifecycle. */
ms_world ms_world_modelless(void);

#endif
