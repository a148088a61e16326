/* A Llama-style decoder with synthetic weights, laid out as Hugging Face's
 * LlamaForCausalLM so that recipe `targets` and `ignore` match the same
 * modules they match upstream (README.md, "The model").
 *
 * A model spec (YAML) gives the sizes and a seed; the weights are generated
 * from the seed with integer-only arithmetic plus one IEEE-exact scaling, so
 * the same seed gives bit-identical weights on every machine. */
#ifndef MS_MODEL_H
#define MS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/doc.h"
#include "../util/status.h"

enum { MS_MODEL_MAX_OUTLIERS = 64 };

/* Llama 3.1's rotary scaling (config.json rope_scaling, rope_type
 * "llama3"); factor 0 means none. */
typedef struct ms_rope_llama3 {
    double factor, low_freq_factor, high_freq_factor, original_max_position;
} ms_rope_llama3;

typedef struct ms_model_spec {
    long long hidden_size, intermediate_size, num_layers, num_heads, num_kv_heads, vocab_size;
    double rope_theta, rms_norm_eps;
    uint64_t seed;
    long long outlier_count;    /* hidden channels whose norm weights are `outlier_scale` */
    double outlier_scale;       /* so that activations have outlier input channels */
    ms_rope_llama3 rope_llama3; /* Hugging Face checkpoints only */
    long long sliding_window;   /* Mistral's: a token attends to at most this many
                                 * positions, its own included; 0 means no limit */
} ms_model_spec;

/* What a module is; the class names come from ms_module.class_name. */
typedef enum {
    MS_MOD_CAUSAL_LM,     /* "" (the root), LlamaForCausalLM */
    MS_MOD_MODEL,         /* "model", LlamaModel */
    MS_MOD_EMBEDDING,     /* "model.embed_tokens", Embedding */
    MS_MOD_LIST,          /* "model.layers", ModuleList */
    MS_MOD_DECODER_LAYER, /* "model.layers.N", LlamaDecoderLayer */
    MS_MOD_ATTENTION,     /* "model.layers.N.self_attn", LlamaAttention */
    MS_MOD_LINEAR,        /* q/k/v/o_proj, gate/up/down_proj, lm_head: Linear */
    MS_MOD_MLP,           /* "model.layers.N.mlp", LlamaMLP */
    MS_MOD_ACTIVATION,    /* "model.layers.N.mlp.act_fn", SiLU */
    MS_MOD_RMSNORM,       /* input_layernorm, post_attention_layernorm, model.norm */
    MS_MOD_ROTARY,        /* "model.rotary_emb", LlamaRotaryEmbedding */
} ms_module_kind;

/* One module, in the order of torch's model.named_modules(). */
typedef struct ms_module {
    const char *name;         /* "model.layers.3.self_attn.q_proj"; "" for the root */
    const char *class_name;   /* "Linear", "LlamaDecoderLayer", ... */
    const char *const *bases; /* class_name then its torch.nn.Module base classes, NULL-ended */
    ms_module_kind kind;
    int layer;    /* decoder layer index, -1 outside the layers */
    void *weight; /* the module's own `weight` parameter (row-major) in its storage
                   * dtype (ms_model_weight_dtype), NULL if none: read and write it
                   * with ms_model_weight_read/write. lm_head's is model.embed_tokens'
                   * when the embeddings are tied */
    float *bias;  /* shape[0] values (Qwen2's q/k/v_proj), NULL if none */
    size_t ndim;  /* 2 for Linear [out_features, in_features] and Embedding, 1 for RMSNorm */
    size_t shape[2];
} ms_module;

typedef struct ms_model ms_model;

/* Reads a spec from YAML text; `file` names it in diagnostics. Unknown keys,
 * missing keys and bad values point at their line and column. */
ms_status ms_model_spec_parse(const char *text, size_t len, const char *file, ms_model_spec *out,
                              ms_diag *diag);
ms_status ms_model_spec_load(const char *path, ms_model_spec *out, ms_diag *diag);

/* Builds the modules and generates the weights of a valid spec (stored as
 * F32). */
ms_status ms_model_new(const ms_model_spec *spec, ms_model **out, ms_diag *diag);

/* A copy of `from`: the same architecture, storage dtypes and weight bits. */
ms_status ms_model_clone(const ms_model *from, ms_model **out, ms_diag *diag);

/* ms_model_spec_load + ms_model_new. */
ms_status ms_model_load(const char *spec_path, ms_model **out, ms_diag *diag);

/* The model a run uses, from what the user typed after --model: "tiny" or
 * "small" (the bundled specs of samples/models/, compiled in), a model spec
 * YAML file, or a Hugging Face checkpoint directory (config.json and
 * safetensors weights). Anything else is an error that lists these. */
ms_status ms_model_open(const char *what, ms_model **out, ms_diag *diag);

/* What a Hugging Face config.json describes, as ms_model_open reads it. */
typedef struct ms_hf_config {
    ms_model_spec spec;       /* sizes; seed and outliers 0 */
    const char *architecture; /* "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM" */
    bool tied;                /* tie_word_embeddings */
    bool qkv_bias;            /* q/k/v_proj have biases (Qwen2) */
} ms_hf_config;

/* Reads config.json text (strict JSON); `file` names it in diagnostics.
 * Unsupported architectures and settings are errors at their line. */
ms_status ms_model_hf_config_parse(const char *text, size_t len, const char *file,
                                   ms_hf_config *out, ms_diag *diag);

void ms_model_free(ms_model *model);

const ms_model_spec *ms_model_get_spec(const ms_model *model);

/* Number of parameters (weights and biases) of the model, tied ones once, as
 * torch's sum(p.numel() for p in model.parameters()) counts them. */
size_t ms_model_param_count(const ms_model *model);

size_t ms_model_module_count(const ms_model *model);
/* Modules by index; `i` must be below ms_model_module_count. The weights are
 * the model's own: modifiers write pruned or quantized values into them. */
const ms_module *ms_model_module(const ms_model *model, size_t i);

/* A module's weight as f32, whatever the dtype it is stored in: the one way
 * code outside src/model/ reads weights (storage follows the checkpoint's
 * dtype). `dst` holds shape[0] * shape[1] (or shape[0]) floats. */
void ms_model_weight_read(const ms_model *model, size_t module, float *dst);

/* Stores `src` (f32) as module `module`'s weight, rounded to its storage
 * dtype as torch's `.to(dtype)` rounds (nearest, ties to even). Modifiers
 * write pruned or quantized weights through it. */
void ms_model_weight_write(ms_model *model, size_t module, const float *src);

/* A version of what decoder layer `layer`'s input depends on (the
 * embedding and layers 0 to layer - 1): it changes whenever one of their
 * weights is written (ms_model_weight_write, ms_model_load_weights) and only
 * then, so a caller may keep that input across calls while it stays equal. */
uint64_t ms_model_input_version(const ms_model *model, size_t layer);

/* The safetensors name of the dtype module `module`'s weight is stored in
 * ("F32", "BF16", "F16"): a checkpoint's weights keep the dtype of their
 * tensor in the file, a synthetic model's are F32. The module must have a
 * weight. */
const char *ms_model_weight_dtype(const ms_model *model, size_t module);

/* Bytes module `module`'s weight takes in memory (numel times 2 or 4). */
size_t ms_model_weight_bytes(const ms_model *model, size_t module);

/* The weight's stored bytes (ms_model_weight_bytes of them: F32 as float,
 * F16/BF16 as uint16_t bits), copied out and back in unchanged: what a
 * snapshot keeps so that stepping back restores the weight bit for bit. */
void ms_model_weight_get_stored(const ms_model *model, size_t module, void *dst);
/* Sets them (counted as a write, as ms_model_weight_write). */
void ms_model_weight_set_stored(ms_model *model, size_t module, const void *src);

/* Number of weight values of a module (0 when it has no weight). */
size_t ms_module_numel(const ms_module *module);

/* Index of the module named `name`, or false when there is none. */
bool ms_model_find(const ms_model *model, const char *name, size_t *index);

/* True when `cls` is the module's class or one of its torch.nn.Module bases
 * (upstream matches the whole MRO: "Module" matches every module). */
bool ms_module_is_a(const ms_module *module, const char *cls);

/* The modules a modifier's `targets` and `ignore` select, as upstream's
 * compressed_tensors match_named_modules: a target matches a module when it
 * equals the module name, or a class name in its MRO, or starts with "re:"
 * and the rest (a Python regex) matches at the start of the name. */
typedef struct ms_match {
    size_t *modules; /* selected module indices, in module order */
    size_t count;
    size_t *target_hits; /* per target: modules it matched, ignore not applied */
} ms_match;

/* Matches `targets` minus `ignore` (either may be empty). Returns
 * MS_ERR_INVALID for a regex that is malformed or uses Python features POSIX
 * regex cannot express (the diag names the target). On success, if a target
 * matched no module, `diag` holds a warning (severity MS_SEV_WARNING, code
 * "W-TARGET-UNMATCHED"), with a hint when the target names a parameter
 * (e.g. "re:.*q_proj.weight"): targets match module names, not parameters. */
ms_status ms_model_match(const ms_model *model, const char *const *targets, size_t n_targets,
                         const char *const *ignore, size_t n_ignore, ms_match *out, ms_diag *diag);
void ms_match_free(ms_match *match);

/* Copies every weight found in a safetensors file ("<module>.weight", F32,
 * F16 or BF16) into the model, rounded to each weight's storage dtype. Tensors the model lacks are
 * skipped, so shards of a checkpoint load one after another; a shape that differs is an error.
 * `loaded` (may be NULL) receives the number of weights copied. */
ms_status ms_model_load_weights(ms_model *model, const char *path, size_t *loaded, ms_diag *diag);

/* Writes every weight ("<module>.weight") in the dtype it is stored in and
 * every bias in the dtype it was read from (F32 for a synthetic model),
 * with the spec in the file's __metadata__ so that other tools can rebuild
 * the architecture. */
ms_status ms_model_save_weights(const ms_model *model, const char *path, ms_diag *diag);

/* FNV-1a 64 over every weight's stored bytes (little-endian, 2 or 4 per
 * value) and every bias's f32 bytes, in module order: a fingerprint to
 * compare weights across runs and machines. */
uint64_t ms_model_weights_hash(const ms_model *model);

#endif
