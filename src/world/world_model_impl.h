/* The model-backed world's state, shared by the files of src/world/ that
 * act on it (world_model.c runs the modifiers, snapshot.c saves and
 * restores it, inspect.c measures it). Not a public header: outside
 * src/world/ the world is opaque (world_model.h). A field a call changes
 * must be saved by snapshot.c too, or a step back does not restore it. */
#ifndef MS_WORLD_MODEL_IMPL_H
#define MS_WORLD_MODEL_IMPL_H

#include "../kernels/apply.h"
#include "../kernels/awq.h"
#include "../kernels/pool.h"
#include "../model/forward.h"
#include "act_quant.h"
#include "world_model.h"

typedef enum {
    KIND_NONE,
    KIND_MAGNITUDE,
    KIND_GPTQ,
    KIND_SPARSEGPT,
    KIND_WANDA,
    KIND_QUANT,
    KIND_SMOOTHQUANT,
    KIND_AWQ,
    KIND_CONSTANT,
} mod_kind;

enum { AWQ_MAX_BALANCE = 8 };

/* One AWQ mapping resolved in one decoder layer: the smooth module and the
 * balance Linears that read its output (awq/base.py _set_resolved_mappings). */
typedef struct awq_map {
    int layer;
    size_t smooth;
    size_t balance[AWQ_MAX_BALANCE];
    size_t nbalance;
} awq_map;

/* One config group of a quantizing modifier (a QuantizationScheme):
 * what it does to a module's weight, input and output. */
typedef struct wm_group {
    bool has_weights, has_input, has_output;
    ms_quant_args weights;
    ms_act_args input, output;
} wm_group;

/* One recipe entry as the world acts on it. */
typedef struct wm_modifier {
    mod_kind kind;
    ms_match match;     /* its targets minus ignore */
    ms_apply_opts opts; /* what its kernel does to each target */
    bool quantizes;     /* it has a weight scheme (GPTQ, Quantization) */
    wm_group *groups;   /* its config groups (GPTQ, Quantization; read at new) */
    size_t ngroups;
    /* per module: the group compressed-tensors' precedence gives it among
     * this modifier's groups, NULL when none selects it (read at new) */
    const wm_group **module_group;
    bool static_inputs; /* a group calibrates static input activations */
    bool has_kv;        /* kv_cache_scheme: k and v after RoPE */
    ms_act_args kv;
    double alpha;          /* SmoothQuant's smoothing_strength */
    bool log_equalization; /* SmoothQuant's algorithm: log_equalization */
    ms_awq_duo duo;        /* AWQ's duo_scaling and n_grid */
    size_t n_grid;
    awq_map *maps; /* AWQ: its mappings in mapping order, layer by layer within each (read at
                    * new, never changed: not snapshotted) */
    size_t nmaps;
    ms_world_calibration how;
    bool observing;                      /* between observe_inputs and compress */
    bool hooked;                         /* from observe_inputs until finalize */
    size_t sequential;                   /* sequential_epoch_ends seen while observing */
    bool *done;                          /* per selected module: compressed in this calibration */
    size_t sparsities, sparsity_targets; /* SparseGPT, Wanda: model_errors.h */
    /* SparseGPT, Wanda: per selected module, the sparsity of the target
     * layer it is in (NULL: opts.prune.sparsity for all); OWL fills it at
     * calibration start from the model as it is then */
    double *slot_sparsity;
    bool owl;
    double owl_m, owl_lmbda;
} wm_modifier;

struct ms_world_model {
    ms_model *model, *base; /* base: the uncompressed copy */
    ms_tokens calib;
    ms_pool *pool;
    uint64_t seed;
    wm_modifier *mods;
    size_t nmods;
    size_t nmodules;
    int *owner;                   /* per module */
    int *bits;                    /* per module */
    const ms_quant_args **scheme; /* per module: the weight scheme attached to it, or NULL */
    const wm_group **group;       /* per module: the scheme attached to it, or NULL */
    float *in_scale, *in_zp;      /* per module: static input_scale and zero point */
    bool *in_ready;               /* per module: in_scale was calibrated */
    const ms_act_args *kv;        /* the kv_cache_scheme attached last, or NULL */
    float *kv_scale, *kv_zp;      /* per layer: k_scale, v_scale and zero points (2 each) */
    bool *kv_ready;               /* per layer: kv_scale was calibrated */
    float **kv_inputs;            /* per layer: k then v of the calibration forward, or NULL */
    bool want_kv;                 /* the collecting forward keeps k and v */
    float *act_buf;               /* the evaluation forward's quantized input */
    size_t act_cap;
    char **note; /* per module, malloc'd */
    /* per module: ConstantPruning's mask (1: kept), NULL for none; never
     * changed once made, so a snapshot keeps the pointers (masks.c) */
    const unsigned char **mask;
    /* per module: its quantization parameters (ms_world_model_qparams),
     * never changed once made, kept by pointer as the masks (qparams.c) */
    const ms_world_qparams **qparams;
    void **kept; /* every mask and qparams made, freed with the world */
    size_t nkept, kept_cap;
    float **inputs;    /* per module: calibration inputs, batch * seq rows; Linears fed the
                          same input (q/k/v, gate/up) share one copy */
    const float *seen; /* the forward's input buffer of the last observed Linear */
    float *seen_copy;  /* the copy kept of it, or NULL */
    bool *want;        /* per module: the collecting forward keeps its inputs */
    int cached_layer;  /* the layer whose inputs `inputs` hold; -2: none; -1: all */
    /* the input of decoder layer `stream_layer` (-1: none) over the
     * calibration tokens, while ms_model_input_version says it is current:
     * a sequential run's next collect starts there, not at layer 0 */
    float *stream;
    int stream_layer;
    uint64_t stream_version;
    ms_status error;
    ms_diag error_diag;
    const ms_sink *sink;
    size_t call;
    /* module writes so far, for ms_world_model_changes; only compared
     * before and after a call, so snapshots need not restore it */
    size_t changes;
    const atomic_bool *stop; /* ms_world_model_set_stop */
};

/* Frees the kept calibration inputs (each shared copy once). */
void ms_world_model_drop_inputs(ms_world_model *wm);

/* The world ops in files of their own (world_model.c's table lists them). */
size_t wm_op_finalize(void *self, void *state, size_t modifier);
void wm_op_update_masks(void *self, void *state, size_t modifier);
void wm_op_apply_masks(void *self, void *state, size_t modifier);
void wm_op_remove_masks(void *self, void *state, size_t modifier);

/* Keeps module `module`'s quantization parameters from `res`, the result
 * of quantizing it with `scheme`; MS_ERR_NOMEM when out of memory. */
ms_status wm_keep_qparams(ms_world_model *wm, size_t module, const ms_quant_args *scheme,
                          const ms_apply_result *res);

/* Keeps `p` until the world is freed; false (and `p` freed) when out of memory. */
bool wm_keep(ms_world_model *wm, void *p);

/* Counts a weight write by modifier `m` and reports the module's sparsity
 * to the sink (world_model.c); the module's qparams no longer hold. */
void wm_report_change(ms_world_model *wm, size_t m, size_t module, const float *w);

#endif
