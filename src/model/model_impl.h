/* Internals shared by the model's source files: the model layout and the
 * deterministic random number generator. Not for use outside src/model/. */
#ifndef MS_MODEL_IMPL_H
#define MS_MODEL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "safetensors.h"

enum { MS_MODULE_NAME_MAX = 64 };

/* Module indices of one decoder layer, for the forward pass. */
typedef struct ms_layer_ix {
    size_t input_norm, q, k, v, o, post_norm, gate, up, down;
} ms_layer_ix;

/* The Hugging Face architectures modsim builds; they differ in class names,
 * Qwen2's q/k/v biases and (per checkpoint) tied embeddings. */
typedef enum { MS_ARCH_LLAMA, MS_ARCH_MISTRAL, MS_ARCH_QWEN2, MS_ARCH_COUNT } ms_arch;

struct ms_model {
    ms_model_spec spec;
    ms_arch arch;
    bool tied;     /* lm_head shares model.embed_tokens' weight */
    bool qkv_bias; /* q/k/v_proj have biases */
    ms_module *modules;
    char (*names)[MS_MODULE_NAME_MAX];
    size_t n_modules;
    /* Every weight in its storage dtype (F32 as float, F16/BF16 as
     * uint16_t bits, native byte order), one allocation, each module's at a
     * 64-byte boundary; biases are floats of their own allocation (exact
     * for every dtype read, and never written by modifiers). */
    unsigned char *storage;
    float *biases;
    ms_st_dtype *dtypes;      /* per module: its weight's storage dtype */
    ms_st_dtype *bias_dtypes; /* per module: the dtype its bias is saved in */
    size_t n_weights;         /* parameters, tied ones once */
    size_t n_biases;
    ms_layer_ix *layers;
    size_t embed, final_norm, lm_head;
    uint64_t writes;   /* weight writes so far */
    uint64_t *written; /* per module: the write that last changed its weight, 0 if none */
};

/* Allocates a model of `arch` with the modules of `spec`, its weights
 * uninitialised and stored as F32. */
ms_status ms_model_alloc(const ms_model_spec *spec, ms_arch arch, bool tied, bool qkv_bias,
                         ms_model **out, ms_diag *diag);

/* ms_model_alloc in two steps, so that a checkpoint's dtypes can be set in
 * `dtypes` between them: the modules (weights NULL, every dtype F32), then
 * the weights' storage. */
ms_status ms_model_alloc_modules(const ms_model_spec *spec, ms_arch arch, bool tied, bool qkv_bias,
                                 ms_model **out, ms_diag *diag);
ms_status ms_model_alloc_storage(ms_model *m, ms_diag *diag);

/* Stores tensor `t` of `f` as module `module`'s weight (bias when `bias`),
 * rounded to its storage dtype; the shapes must agree. */
ms_status ms_model_store_tensor(ms_model *m, size_t module, bool bias, const ms_st_file *f,
                                const ms_st_tensor *t, ms_diag *diag);

/* Rows [row0, row0 + rows) of module `module`'s 2-D weight (or its 1-D
 * weight when row0 = 0, rows = 1) as f32 into `dst`; F32 weights are
 * copied, F16/BF16 converted exactly. */
void ms_model_weight_rows(const ms_model *m, size_t module, size_t row0, size_t rows, float *dst);

/* Opens a Hugging Face checkpoint directory (hf.c). */
ms_status ms_model_hf_open(const char *dir, ms_model **out, ms_diag *diag);

/* xoshiro256** seeded through splitmix64: integer-only, so every machine
 * produces the same stream. */
typedef struct ms_rng {
    uint64_t s[4];
} ms_rng;

static inline uint64_t ms_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline void ms_rng_seed(ms_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = ms_splitmix64(&seed);
}

static inline uint64_t ms_rng_next(ms_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, n), n > 0, without modulo bias: values below 2^64 mod n are
 * redrawn so that every residue is equally likely. */
static inline uint64_t ms_rng_below(ms_rng *rng, uint64_t n)
{
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = ms_rng_next(rng);
        if (r >= threshold)
            return r % n;
    }
}

#endif
